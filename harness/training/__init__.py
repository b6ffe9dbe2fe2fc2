"""Model training: fits the learned codecs' weights (pico-torch, CompressAI models); codecs only load them."""
