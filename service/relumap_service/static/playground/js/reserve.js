// Before the first paint (a render-blocking module with no imports): when the URL
// will draw a comparison at once, lay the page out for two views now, so nothing
// moves when the answers arrive (a shared link's layout shift).

const params = new URLSearchParams(window.location.search);
const runs = params.has("kind") || params.has("dataset");
if (runs && params.get("compare") === "1" && params.get("act") !== "identity" && params.get("src") !== "manual") {
  document.getElementById("view-linear").hidden = false;
  document.getElementById("views").classList.add("compare");
  document.getElementById("stage").classList.add("compare");
}
