"""What Payreq is measured against, in the same run: the common way, and the floor."""
