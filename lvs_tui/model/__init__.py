"""Pure records of an IPVS table and what is computed from them; no I/O, no Textual."""
