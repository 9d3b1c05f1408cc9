from sluice.cli.main import app

app()
