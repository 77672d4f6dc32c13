"""The concordance: each fundamental once, with the code of every port side by side."""
