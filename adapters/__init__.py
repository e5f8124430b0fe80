"""The LoRA trainer: one YAML config, one command (`yiju train --config …`)."""
