"""An ordinary scikit-learn training job against pmhub: autolog, log_model, load back, registry.

Argument: the experiment name <product-slug>/<model-name>. Prints RESULT <json>.
Warnings are turned into output lines the test checks for.
"""
import json
import logging
import sys
import warnings

import mlflow
from mlflow import MlflowClient
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression

warnings.simplefilter("default")
caught = []
logging.captureWarnings(True)


class Catch(logging.Handler):
    def emit(self, record):
        if record.levelno >= logging.WARNING:
            caught.append(f"{record.name}: {record.getMessage()[:300]}")


logging.getLogger().addHandler(Catch())
logging.getLogger("mlflow").addHandler(Catch())

experiment, registered = sys.argv[1], sys.argv[1].replace("/", ".")
out = {}
mlflow.set_experiment(experiment)
X, y = make_classification(n_samples=200, n_features=6, random_state=0)

# 1. autolog: params, metrics, the model and its artifacts, no warning.
mlflow.sklearn.autolog()
with mlflow.start_run(run_name="autolog") as run:
    LogisticRegression(max_iter=200).fit(X, y)
out["autolog_run"] = run.info.run_id
mlflow.sklearn.autolog(disable=True)
data = MlflowClient().get_run(run.info.run_id).data
out["autolog_params"] = sorted(data.params)[:5]
out["autolog_metrics"] = sorted(data.metrics)
out["autolog_artifacts"] = sorted(f.path for f in MlflowClient().list_artifacts(run.info.run_id))

# 2. log_model by hand, load by runs:/ and models:/, same predictions.
with mlflow.start_run(run_name="manual") as run:
    clf = LogisticRegression(max_iter=200, C=0.5).fit(X, y)
    info = mlflow.sklearn.log_model(clf, name="model", input_example=X[:2])
out["manual_run"] = run.info.run_id
out["model_id"] = info.model_id
expected = clf.predict(X[:20]).tolist()
out["pred_runs"] = mlflow.pyfunc.load_model(f"runs:/{run.info.run_id}/model").predict(X[:20]).tolist() == expected
out["pred_models"] = mlflow.pyfunc.load_model(f"models:/{info.model_id}").predict(X[:20]).tolist() == expected
out["sklearn_back"] = mlflow.sklearn.load_model(f"models:/{info.model_id}").predict(X[:20]).tolist() == expected

# 3. registry: register, alias, load by alias, stage transition, tags, search.
client = MlflowClient()
mv = mlflow.register_model(f"models:/{info.model_id}", registered)
out["registered_version"] = mv.version
client.set_registered_model_alias(registered, "champion", mv.version)
out["pred_alias"] = mlflow.pyfunc.load_model(f"models:/{registered}@champion").predict(X[:20]).tolist() == expected
out["pred_version"] = mlflow.pyfunc.load_model(f"models:/{registered}/{mv.version}").predict(X[:20]).tolist() == expected
client.set_registered_model_tag(registered, "owner", "search-team")
client.set_model_version_tag(registered, mv.version, "validated", "yes")
rm = client.get_registered_model(registered)
out["aliases"] = dict(rm.aliases)
out["rm_tags"] = dict(rm.tags)
out["by_alias"] = client.get_model_version_by_alias(registered, "champion").version
with warnings.catch_warnings():
    warnings.simplefilter("ignore", FutureWarning)  # stages are deprecated in MLflow; pmhub maps them
    moved = client.transition_model_version_stage(registered, mv.version, "Production")
out["stage"] = moved.current_stage
out["search"] = [m.name for m in client.search_registered_models(filter_string=f"name = '{registered}'")]
out["versions"] = [v.version for v in client.search_model_versions(f"name = '{registered}'")]
out["warnings"] = [w for w in caught if "pmhub" in w or "NOT_IMPLEMENTED" in w or "autolog" in w.lower()
                   or "Encountered unexpected error" in w]
print("RESULT " + json.dumps(out))
