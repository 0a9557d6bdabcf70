"""Reading an invoice from its words and their positions, with no per-vendor templates.

`layout` groups a page's fragments into lines of cells; `vocabulary` (labels, titles and month
names in seven languages, kept as data in vocabulary.json) finds what each cell announces;
`numbers`, `dates` and `currencies` read values in any common locale; `parties` tells the issuer
from the customer; `line_items` reads the item table; `totals` chooses subtotal, taxes and total
by reconciling them with the items; `invoice` puts it together with a confidence per field that
comes from its evidence, and the reasons a person should review it.
"""
