DROP INDEX articles_newest_first;
