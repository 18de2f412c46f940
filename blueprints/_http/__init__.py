"""What every feature's routes share: context, the multipart parser, streaming, schemas."""
