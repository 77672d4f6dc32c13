"""The Tasks API as one Django app (models, views, urls, and the HTTP rules around them)."""
