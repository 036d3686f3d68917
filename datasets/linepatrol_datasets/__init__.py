"""Dataset tools: readers, converters, splits, statistics and slicing for detection datasets."""
