"""One module per command family: each holds its declarations and thin actions."""
