"""The ground floor: what every room uses (images, colour, errors, hashing, processes, the registry, TOML)."""
