FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY requirements.txt .
RUN pip install -r requirements.txt
COPY . .
RUN DEBUG=0 SECRET_KEY=build-only-secret-key-that-is-long-enough-xx python manage.py collectstatic --noinput
RUN useradd --system --uid 1000 pmhub && mkdir -p /app/var && chown -R pmhub /app/var
USER pmhub
EXPOSE 8000
CMD ["gunicorn", "pmhub.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--threads", "4", "--keep-alive", "15", "--access-logfile", "-"]
