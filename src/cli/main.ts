console.log("selkie");
