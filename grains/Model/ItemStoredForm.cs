namespace RecoCluster.Grains.Model;

/// <summary>
/// How an item is stored: its row in <c>reco_item</c> (the item whole) and the log of changes appended since
/// (<c>reco_item_log</c>). Kept by the item's <see cref="ItemShard"/>, which decides at each write whether to append
/// the change or write the item whole.
/// </summary>
/// <param name="BaseBytes">The stored row's payload; 0 when the item was never stored.</param>
/// <param name="LogBytes">The log entries' payloads, together.</param>
/// <param name="LogEntries">How many log entries there are.</param>
/// <param name="NextSeq">The next log entry's number (one past the last; 0 after the item was written whole).</param>
public readonly record struct ItemStoredForm(int BaseBytes, int LogBytes, int LogEntries, int NextSeq);
