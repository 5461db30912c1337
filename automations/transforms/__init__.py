"""Pure transforms on pandas DataFrames. Nothing in this package does I/O."""
