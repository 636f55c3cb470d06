# Image for web, worker and beat on hosts with a Docker engine (see docker-compose.yml).
FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY requirements/base.txt requirements/base.txt
RUN pip install --no-cache-dir -r requirements/base.txt
COPY . .
RUN DEBUG=true SECRET_KEY=build DATABASE_URL=postgres://build@localhost/build REDIS_URL=redis://localhost:6379/0 \
    python manage.py collectstatic --noinput -v0 \
 && useradd --system --uid 10000 skriptoteket
USER skriptoteket
EXPOSE 8000
CMD ["gunicorn", "skriptoteket.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3"]
