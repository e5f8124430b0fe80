"""The LoRA trainer: one YAML config, one command (`yiju train --config …` / `python -m adapters.train`).

Public API:
  adapters.config.load_config(path, overrides, home=…) -> TrainConfig
  adapters.train.train(config_path_or_obj, overrides) -> TrainResult (output_dir, summary, manifest)
  adapters.registry.list_adapters(home, extra_dirs=()) -> list[AdapterManifest]; find_adapter(home, name)
  adapters.export.merge_adapter(adapter_dir, out_dir) / export_gguf(adapter_dir, out_path)
Never imports `assistant` or `ui`.
"""
