"""pmhub speaks the MLflow tracking REST API (see README, "MLflow").

Only the protocol lives here: parsing MLflow requests, shaping MLflow
responses and errors. Every write goes through kpis.services.mlflow (which
uses the AI-model services), every read through kpis.selectors.mlflow.
"""
