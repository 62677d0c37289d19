"""The model: input contracts, the backbone registry and its Backbone value, weight sources and their resolution, heads, freezing."""
