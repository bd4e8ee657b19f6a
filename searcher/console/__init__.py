"""What a running search shows on the console: one line per finished trial, or a live panel."""
