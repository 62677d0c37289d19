"""Hugging Face TF encoders: the shared encoder layer, weights from the Hub or a folder, safetensors conversion, and one file per family."""
