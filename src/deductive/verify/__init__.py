"""Independent puzzle verifier: parse a prompt (original or native wording), solve its own
CP-SAT model of the stated rules, and check for exactly one solution equal to the key."""
