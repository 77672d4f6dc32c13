"""Tasks API conformance suite: contract, behaviour and transport layers plus the port matrix."""
