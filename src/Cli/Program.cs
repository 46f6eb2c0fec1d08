// Entry point of the mlnet-transformer command line: train, evaluate, score, generate, attention, playground, sweep, info, export-onnx, doctor.
using System.CommandLine;
using System.Globalization;
using MLNet.Transformer.Cli;
using MLNet.Transformer.Cli.Commands;

// Numbers in every output (text, JSON, CSV) read the same on every machine, whatever the user's locale.
CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;

var root = new RootCommand("Train and use small character-level transformer models (MLNet.Transformer).");
root.Add(TrainCommand.Create());
root.Add(ModelCommands.Evaluate());
root.Add(ModelCommands.Score());
root.Add(ModelCommands.Generate());
root.Add(ModelCommands.Info());
root.Add(ModelCommands.ExportOnnx());
root.Add(AttentionCommand.Create());
root.Add(PlaygroundCommand.Create());
root.Add(SweepCommand.Create());
root.Add(DoctorCommand.Create());
return CliHost.Run(root, args);
