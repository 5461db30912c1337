# A container that runs corecruit's scheduler. Build: docker build -t corecruit .
# Run:   docker run -p 127.0.0.1:8765:8765 -v $PWD/config:/app/config \
#          -v corecruit-data:/app/workspace corecruit
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml setup.py MANIFEST.in README.md ./
COPY automations ./automations
COPY sheets_templates ./sheets_templates
RUN pip install --no-cache-dir . && rm -rf build && useradd --create-home corecruit && mkdir -p workspace && chown corecruit workspace
COPY config ./config
USER corecruit
# SIGTERM (docker stop) lets the job in progress finish, then stops.
STOPSIGNAL SIGTERM
# The form server listens on every address inside the container (--forms-host 0.0.0.0),
# so the published port reaches it. Put it behind your HTTPS proxy and set
# forms.public_url to the proxy's https:// address: people must never get http:// links.
EXPOSE 8765
CMD ["corecruit", "--config", "config", "run", "--forms-host", "0.0.0.0"]
