"""Speed, size and cost figures of the product, each measured next to the baseline it replaces."""
