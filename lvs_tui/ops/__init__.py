"""Operations on a director: what changes it, records it and watches it (no Textual)."""
