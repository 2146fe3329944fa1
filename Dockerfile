# syntax=docker/dockerfile:1
# One image for web (gunicorn), worker and beat (celery) and the one-shot migrate service.

# --- front-end assets: npm ci from the lock file, no build step --------------------------------------
FROM node:20-bookworm-slim AS assets
WORKDIR /build
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --omit=dev --loglevel=error

# --- application --------------------------------------------------------------------------------------
FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_DEBUG=0 \
    PORTAL_VAR_DIR=/app/var
WORKDIR /app

RUN groupadd --system --gid 10001 portal \
 && useradd --system --uid 10001 --gid portal --home-dir /app --no-create-home --shell /usr/sbin/nologin portal

# psycopg[binary] ships its own libpq: no compiler or system libraries needed.
COPY requirements.txt ./
RUN pip install -r requirements.txt

COPY --from=assets /build/node_modules ./node_modules
COPY . .

# Static files are collected at build time (immutable image, no race between web workers). The keys
# below exist only for this one command; the real ones come from the environment at run time.
RUN DJANGO_DEBUG=0 \
    SECRET_KEY=build-only-collectstatic \
    BLIND_INDEX_KEY=build-only-collectstatic \
    FIELD_ENCRYPTION_KEYS="$(python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')" \
    python manage.py collectstatic --noinput --verbosity 0 \
 && mkdir -p /app/var/private-media \
 && chown -R portal:portal /app/var

USER portal
EXPOSE 8000
CMD ["gunicorn", "portal.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "2", "--timeout", "60", "--access-logfile", "-"]
