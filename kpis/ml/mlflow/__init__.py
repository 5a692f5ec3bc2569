"""pmhub speaks the MLflow tracking REST API (see README, "MLflow").

Only the protocol lives here: parsing MLflow requests, shaping MLflow
responses and errors. Every write goes through kpis.ml.mlflow.services (which
uses the AI-model services), every read through kpis.ml.mlflow.selectors.
"""
