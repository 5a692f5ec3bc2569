"""A data scientist's ordinary MLflow logging script, run unchanged against pmhub.

The tests run it in a subprocess with MLFLOW_TRACKING_URI=<pmhub>/mlflow and
MLFLOW_TRACKING_TOKEN=<pmhub API token>; it prints what it read back as JSON.
Argument: the experiment name (<product-slug>/<model-name>).
"""
import json
import math
import sys
import time

import mlflow
from mlflow import MlflowClient
from mlflow.entities import Metric, Param, RunTag
from mlflow.exceptions import MlflowException

experiment_name = sys.argv[1]
out = {}

experiment = mlflow.set_experiment(experiment_name)
out["experiment_id"] = experiment.experiment_id

# 1. A run that trains and finishes.
with mlflow.start_run(run_name="v1") as run:
    mlflow.log_param("learning_rate", 0.01)
    mlflow.log_params({"layers": 3, "optimizer": "adam"})
    for step in range(200):
        mlflow.log_metrics({"train_loss": 1.0 / (step + 1), "train_acc": 1 - math.exp(-step / 50)}, step=step)
    mlflow.log_metric("val_acc", 0.91, step=199)
    mlflow.set_tag("team", "search")
    mlflow.log_param("learning_rate", 0.01)  # re-logging the same value is fine
    try:
        mlflow.log_param("learning_rate", 0.1)
    except MlflowException as exc:
        out["overwrite_error"] = exc.error_code
out["run_id"] = run.info.run_id

# 2. A run that fails mid-way: the context manager marks it FAILED.
try:
    with mlflow.start_run(run_name="v2-crash") as crashed:
        mlflow.log_metric("train_loss", 0.9, step=0)
        raise RuntimeError("out of memory")
except RuntimeError:
    pass
out["failed_run_id"] = crashed.info.run_id

# 3. A log-batch sent twice (a retry after a timeout): nothing doubles.
client = MlflowClient()
retried = client.create_run(experiment.experiment_id, run_name="v3-retry")
ts = int(time.time() * 1000)
batch = [Metric("eval_acc", 0.5 + i / 1000, ts + i, i) for i in range(300)]
for _ in range(2):
    client.log_batch(retried.info.run_id, metrics=batch, params=[Param("seed", "7")], tags=[RunTag("retry", "yes")])
client.set_terminated(retried.info.run_id)
out["retried_run_id"] = retried.info.run_id

# Read everything back with the official client.
got = client.get_run(run.info.run_id)
out["run"] = {"status": got.info.status, "run_name": got.info.run_name, "end_time": got.info.end_time,
              "params": got.data.params, "metrics": got.data.metrics,
              "tags": {k: v for k, v in got.data.tags.items()}}
out["failed_status"] = client.get_run(crashed.info.run_id).info.status
out["history"] = [(m.step, m.value) for m in client.get_metric_history(run.info.run_id, "train_loss")]
out["retried_history_len"] = len(client.get_metric_history(retried.info.run_id, "eval_acc"))
out["by_name"] = client.get_experiment_by_name(experiment_name).experiment_id
out["experiments"] = [e.name for e in client.search_experiments()]
runs = client.search_runs([experiment.experiment_id], filter_string="metrics.val_acc > 0.9",
                          order_by=["attributes.start_time DESC"])
out["search"] = [r.info.run_name for r in runs]
out["all_runs"] = sorted(r.info.run_name for r in client.search_runs([experiment.experiment_id]))
print("RESULT " + json.dumps(out))
