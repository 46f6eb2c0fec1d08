// Entry point of the mlnet-transformer command line.
return 0;
