"""Test-only Lambda functions: the e2e suite adds them to a copy of template.yaml to check what the
local gateway sends and how it reads the answers, independently of the product's functions."""
