"""The Tasks API on FastAPI: see spec/README.md for the contract and README.md for the file map."""
