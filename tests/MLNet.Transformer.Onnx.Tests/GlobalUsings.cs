// Usings shared by every test file of this project.
global using Xunit;
