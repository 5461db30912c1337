# A container that runs corecruit's scheduler. Build: docker build -t corecruit .
# Run:   docker run -v $PWD/config:/app/config -v corecruit-data:/app/workspace corecruit
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY automations ./automations
COPY sheets_templates ./sheets_templates
RUN pip install --no-cache-dir -e . && useradd --create-home corecruit && mkdir -p workspace && chown corecruit workspace
COPY config ./config
USER corecruit
# SIGTERM (docker stop) lets the job in progress finish, then stops.
STOPSIGNAL SIGTERM
EXPOSE 8765
CMD ["corecruit", "--config", "config", "run"]
