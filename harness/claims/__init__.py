"""Claims about particular codecs, built on the generic harness from above; nothing generic imports them."""
