"""The media API (seed 001): uploads, files, downloads, listing and invoice PDFs."""
