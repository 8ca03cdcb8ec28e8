"""The model core: the base model, the registry, shared blocks, layers and checks."""
