"""The vispy window; it observes the session and may set the stop flag."""
