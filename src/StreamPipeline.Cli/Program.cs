Console.WriteLine("spctl");
