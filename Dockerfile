# PartnerHub application image: the web (gunicorn), worker and beat services of docker-compose.yml all run it.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PYTHONPATH=/app \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# Pango, HarfBuzz and a font for co-branded PDFs (WeasyPrint).
RUN apt-get update \
    && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 \
       fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*

RUN groupadd --system --gid 1000 partnerhub \
    && useradd --system --uid 1000 --gid partnerhub --home-dir /app --shell /usr/sbin/nologin partnerhub

WORKDIR /app

# Dependencies first (from pyproject.toml), so that code changes do not reinstall them. The code itself runs
# from /app (PYTHONPATH), so only its dependencies stay installed.
COPY pyproject.toml README.md ./
RUN mkdir partnerhub && touch partnerhub/__init__.py \
    && pip install . \
    && pip uninstall --yes partnerhub \
    && rm -rf partnerhub build *.egg-info

COPY . .

# Static files are collected at build time with the production settings; the values below exist only so the
# settings load during the build and are not part of the image's runtime environment.
RUN PARTNERHUB_ENV=production \
    SECRET_KEY=collectstatic-build-only \
    ALLOWED_HOSTS=localhost \
    DATABASE_URL=postgres://build@localhost:5432/build \
    python manage.py collectstatic --noinput \
    && mkdir -p /app/media \
    && chown -R partnerhub:partnerhub /app/media

USER partnerhub
EXPOSE 8000

CMD ["gunicorn", "partnerhub.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
