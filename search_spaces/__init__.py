"""Search spaces, their scales, and the strategies that search them; pure Python."""
