# Backroom: one image for the web app (`backroom api`), the worker (`backroom worker`) and
# one-shot jobs (`backroom migrate`).
FROM python:3.11-slim

# WeasyPrint renders PDFs through Pango/HarfBuzz and needs fonts; nothing else is native.
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz0b libharfbuzz-subset0 libfontconfig1 \
      fonts-dejavu-core shared-mime-info \
 && rm -rf /var/lib/apt/lists/*

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 BACKROOM_VAR=/var/lib/backroom
WORKDIR /app
COPY . .
RUN pip install --upgrade pip && pip install . \
 && useradd --system --home /var/lib/backroom --create-home backroom
USER backroom
EXPOSE 8000
CMD ["backroom", "api", "--host", "0.0.0.0", "--port", "8000"]
