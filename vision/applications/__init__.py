"""tf_keras.applications CNNs (one file per family) and their shared builder."""
