"""Every artifact call of the MLflow client, unchanged, against pmhub (MLFLOW_TRACKING_URI=<pmhub>/mlflow).

Argument: the experiment name. Prints RESULT <json> with what it read back.
"""
import json
import os
import sys
import tempfile

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import mlflow  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from mlflow import MlflowClient  # noqa: E402

out = {}
mlflow.set_experiment(sys.argv[1])
work = tempfile.mkdtemp()
with mlflow.start_run(run_name="artifacts") as run:
    out["run_id"] = run.info.run_id
    out["artifact_uri"] = run.info.artifact_uri
    with open(os.path.join(work, "notes.txt"), "w") as fh:
        fh.write("hello pmhub\n")
    mlflow.log_artifact(os.path.join(work, "notes.txt"))
    mlflow.log_artifact(os.path.join(work, "notes.txt"), artifact_path="docs")
    tree = os.path.join(work, "tree")
    os.makedirs(os.path.join(tree, "sub"))
    for name, text in (("a.txt", "A"), ("sub/b.txt", "BB"), ("sub/é ü.txt", "unicode")):
        with open(os.path.join(tree, name), "w") as fh:
            fh.write(text)
    mlflow.log_artifacts(tree, artifact_path="tree")
    mlflow.log_dict({"lr": 0.01, "layers": [64, 32]}, "config.json")
    mlflow.log_dict({"lr": 0.01}, "config.yaml")
    mlflow.log_text("line one\nline two\n", "logs/train.log")
    fig, ax = plt.subplots()
    ax.plot([1, 2, 3], [3, 1, 2])
    mlflow.log_figure(fig, "plots/curve.png")
    mlflow.log_image(np.random.default_rng(0).integers(0, 255, (16, 16, 3), dtype=np.uint8), "images/noise.png")
    mlflow.log_table(pd.DataFrame({"x": [1, 2], "y": ["a", "b"]}), "tables/preds.json")

client = MlflowClient()
run_id = out["run_id"]
out["root"] = sorted((f.path, f.is_dir, f.file_size) for f in client.list_artifacts(run_id))
out["tree"] = sorted((f.path, f.is_dir, f.file_size) for f in client.list_artifacts(run_id, "tree/sub"))
dest = tempfile.mkdtemp()
local = mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path="tree", dst_path=dest)
out["downloaded"] = sorted(os.path.relpath(os.path.join(r, f), local) for r, _, fs in os.walk(local) for f in fs)
with open(os.path.join(local, "sub", "é ü.txt")) as fh:
    out["unicode"] = fh.read()
out["config"] = mlflow.artifacts.load_dict(f"runs:/{run_id}/config.json")
out["text"] = mlflow.artifacts.load_text(f"runs:/{run_id}/logs/train.log")
out["table_rows"] = len(mlflow.load_table("tables/preds.json", run_ids=[run_id]))
everything = mlflow.artifacts.download_artifacts(run_id=run_id, dst_path=tempfile.mkdtemp())
out["all_files"] = sorted(os.path.relpath(os.path.join(r, f), everything)
                          for r, _, fs in os.walk(everything) for f in fs)
print("RESULT " + json.dumps(out))
