"""The browser page: one page over the JSON APIs, its static files, and the API docs."""
