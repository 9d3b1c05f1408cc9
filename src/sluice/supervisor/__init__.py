"""What happens inside one job: download the input, run the script, upload the outputs."""
