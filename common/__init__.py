"""The shared core, in the order data flows: config -> data -> model -> train -> output, with the CLI, plugins and small utilities beside them."""
