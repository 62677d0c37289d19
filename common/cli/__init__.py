"""The command line: the parser (``transferkit --help`` imports no TensorFlow), its options from the config dataclasses, and one handler per verb."""
